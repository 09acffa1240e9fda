# conf/: the server's config and one file per plugin, every option commented.
dist_conf_DATA += conf/chorus.conf conf/chorus.plugin.echo.conf conf/chorus.plugin.voice.conf
