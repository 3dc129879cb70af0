"""The rules of furusato-cms. Services take a db session, a clock and settings; never a request.

They flush, never commit (the request's transaction does), and raise the typed
errors in ``errors.py`` with a translatable message naming the rule that failed.
"""
