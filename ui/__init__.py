"""The Gradio web chat over the qa library: ``python -m ui`` or ``qa serve``.

Gradio is imported only by ``ui.app``; ``ui.render``, ``ui.uploads`` and ``ui.listen`` are plain Python.
"""
