"""知识库 — the knowledge base: articles fed from solved tickets, reviewed, searched in Chinese.

models.py      articles, their revisions (append-only), ticket links, files
index.py       the search index (SQLite FTS5 / PostgreSQL tsvector), written in the article's transaction
search.py      search() for /kb, suggest() for intake / ticket page / hotline
operations.py  writing, reviewing, archiving, linking; the prefill from a solved ticket
personal.py    removing personal data (names, phone numbers, e-mail addresses) from a ticket's text
"""
