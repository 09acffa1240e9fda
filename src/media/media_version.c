/* Anchor of libchorus-media.a: the library always has one object. */
#include "media/media_version.h"

const char *chorus_media_version(void)
{
    return "1";
}
