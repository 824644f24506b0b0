"""Chinese text for the search index: jieba words plus character bigrams, query terms, highlighting.

Index side: every text becomes a set of tokens — jieba's `cut_for_search` words (打印机 → 打印, 印机, 打印机)
plus every pair of neighbouring Chinese characters (bigrams), plus lower-cased runs of letters/digits.
Query side: jieba cuts the query into words; a Chinese word of two or more characters matches when the
word itself or all of its bigrams are in the document, so 打印 finds 打印机无法打印 and so does 印机;
a single character or a run of letters/digits matches as a prefix (1380 finds 13800138000).
Both databases receive the tokens already made here (SQLite's unicode61 tokenizer and PostgreSQL's
tsvector keep them as they are), so the two backends match the same way.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading

from markupsafe import Markup, escape

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RUN = re.compile(f"[{_CJK}]+")
ALNUM_RUN = re.compile(r"[0-9a-z]+")
IS_CJK = re.compile(f"^[{_CJK}]+$")
# Clauses are segmented one by one and remembered: real texts repeat phrases a lot.
CLAUSE_SPLIT = re.compile(r"[\s，。：；！？、,.:;!?()（）【】\[\]“”\"'/|]+")
MAX_QUERY_WORDS = 8

_jieba_lock = threading.Lock()
_jieba = None


def jieba():
    """jieba, initialised once per process (building its prefix dictionary takes about half a second)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba as j

                j.setLogLevel(logging.WARNING)
                j.initialize()
                _jieba = j
    return _jieba


@functools.lru_cache(maxsize=200_000)
def _clause_tokens(clause: str) -> frozenset[str]:
    tokens = set()
    for word in jieba().cut_for_search(clause, HMM=False):
        word = word.strip().lower()
        if len(word) > 1 and IS_CJK.match(word):  # single characters: found through the bigrams (prefix)
            tokens.add(word)
    for run in CJK_RUN.findall(clause):
        tokens.update(run[i:i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            tokens.add(run)
    tokens.update(ALNUM_RUN.findall(clause.lower()))
    return frozenset(tokens)


def tokens(*texts: str | None) -> set[str]:
    """The index tokens of some texts (a set: order and repetition do not matter to the search)."""
    out: set[str] = set()
    for text in texts:
        if text:
            for clause in CLAUSE_SPLIT.split(text):
                if clause:
                    out |= _clause_tokens(clause)
    return out


def exact_token(text: str) -> str:
    """One token standing for a whole (normalised) text: a summary equal to the query ranks first."""
    norm = re.sub(r"\s+", "", text or "").lower()
    return "zx" + hashlib.blake2b(norm.encode(), digest_size=8).hexdigest()


def query_words(q: str) -> list[str]:
    """The words of a query: jieba words for Chinese, letter/digit runs for the rest (lower case)."""
    words: list[str] = []
    for clause in CLAUSE_SPLIT.split(q.lower()):
        for part in re.findall(f"[{_CJK}]+|[0-9a-z]+", clause):
            if IS_CJK.match(part):
                words.extend(_join_single_characters([w for w in jieba().cut(part, HMM=False) if w.strip()]))
            else:
                words.append(part)
    seen, out = set(), []
    for w in words:
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out[:MAX_QUERY_WORDS]


def _join_single_characters(words: list[str]) -> list[str]:
    """jieba leaves what its dictionary lacks as single characters (客户催问 → 客户, 催, 问); searched one by one
    they would match almost anything, so neighbouring ones are kept together (客户, 催问 — matched by bigrams)."""
    out: list[str] = []
    run = ""
    for w in words + [""]:
        if len(w) == 1:
            run += w
            continue
        if run:
            out.append(run)
            run = ""
        if w:
            out.append(w)
    return out


def bigrams(word: str) -> list[str]:
    return [word[i:i + 2] for i in range(len(word) - 1)]


# --- highlighting --------------------------------------------------------------------------------------------

def _pattern(words: tuple[str, ...]) -> re.Pattern | None:
    parts = set()
    for w in words:
        parts.add(w)
        if IS_CJK.match(w) and len(w) > 2:
            parts.update(bigrams(w))  # matched through its bigrams: show those
    if not parts:
        return None
    return re.compile("|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True)), re.IGNORECASE)


pattern = functools.lru_cache(maxsize=256)(_pattern)


def highlight(text: str | None, words: tuple[str, ...]) -> Markup:
    """The text, escaped, with the query's words wrapped in <mark> (matching is done on the raw text,
    every piece is escaped on its own, so nothing of the text can become markup)."""
    text = text or ""
    pat = pattern(words)
    if pat is None:
        return escape(text)
    out, pos = [], 0
    for m in pat.finditer(text):
        out.append(escape(text[pos:m.start()]))
        out.append(Markup("<mark>%s</mark>") % m.group(0))
        pos = m.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def snippet(texts: list[str], words: tuple[str, ...], width: int = 36) -> Markup | None:
    """The first place in `texts` where a query word occurs, with some context, highlighted."""
    pat = pattern(words)
    if pat is None:
        return None
    for text in texts:
        if not text:
            continue
        m = pat.search(text)
        if m:
            start = max(0, m.start() - width // 2)
            end = min(len(text), m.end() + width)
            piece = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
            return highlight(piece, words)
    return None
