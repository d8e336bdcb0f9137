"""Pieces every part of the project shares and that need neither Flask nor a database:
the code lists with their labels (``codes``) and the one text-folding function (``text``)."""
