"""The page's tabs, one module each: a tab builds its components and holds its handlers.

``ui/app.py`` composes them into the page and keeps what crosses tabs: the shared state, the
one seek path (:meth:`ui.app.Page.open_at`) and the events that update more than one tab.
"""
