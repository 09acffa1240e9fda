#ifndef CHORUS_MEDIA_VERSION_H
#define CHORUS_MEDIA_VERSION_H
/* Version of the media layer's packet code (bumped on wire-visible changes). */
const char *chorus_media_version(void);
#endif
