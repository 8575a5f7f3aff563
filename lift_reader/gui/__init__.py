"""gui/: the PySide6 desktop app. It never imports torch: model work goes through ``workers``.

``run_app()`` in ``app.py`` starts it (``lift-reader gui``).
"""
