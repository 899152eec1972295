"""Pieces of HTML and SVG pages shared by report/ (a run's report) and search/ (a search's
report), kept below both so neither package imports the other to draw a page."""
