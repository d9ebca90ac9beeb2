#!/usr/bin/env python3
"""Encode texts with Python's tiktoken using a course tokenizer folder, for Tests/LLMCoreTests.

usage: tiktoken_compare.py TOKENIZER_DIR TEXTS_JSON  ->  prints a JSON list of id lists
Exit code 3 when tiktoken is not installed (the Swift test then skips, saying so).
"""
import json
import sys

try:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
except ImportError:
    sys.exit(3)

folder, texts_path = sys.argv[1], sys.argv[2]
config = json.load(open(f"{folder}/tokenizer.json"))
encoding = tiktoken.Encoding(
    "course",
    pat_str=config["pattern"],
    mergeable_ranks=load_tiktoken_bpe(f"{folder}/tokenizer.tiktoken"),
    special_tokens=config["special_tokens"],
)
texts = json.load(open(texts_path))
print(json.dumps([encoding.encode(t, allowed_special="all") for t in texts]))
