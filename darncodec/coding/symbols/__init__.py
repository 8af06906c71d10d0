"""The symbol stage (coder id 4): a page's repeated shapes coded once, then placed.

JB2 / JBIG2 text regions in spirit, lossless: the encoder finds the page's connected components
and groups identical ones into classes (components.py); the dictionary of classes is drawn on a
sheet of tiles (sheet.py) that the mixing coder codes like a small image; the placements (class,
position in reading order) are coded by adaptive models of what text is (placements.py); the page
is then coded by the raster coder with the *predicted page* (the classes drawn at their placements,
predicted.py) as extra context, so a pixel the prediction explains costs almost nothing.
"""
