# html/: demo pages, served by the server itself and installed to $(htmldir).
dist_html_DATA = html/index.html html/echo.html html/voice.html
htmlcssdir = $(htmldir)/css
dist_htmlcss_DATA = html/css/chorus.css
htmljsdir = $(htmldir)/js
dist_htmljs_DATA = html/js/chorus.js html/js/chorus-voice.js
htmlimgdir = $(htmldir)/img
dist_htmlimg_DATA = html/img/echo.png html/img/voice.png
