"""The web page: draw digits and watch them recognized (``handwriting serve``)."""
