"""The indexing side: documents read and split into passages and sentences, BM25 and dense vectors
built, stored as plain files, and searched. Nothing here imports the answering side (``qa.answer``,
``qa.reader``, …); the contract is checked by import-linter (``pyproject.toml``, ``tests/test_layout.py``)."""
