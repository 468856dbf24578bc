#!/usr/bin/python3
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
"""Reads an SRT or WebVTT file with an independent parser (Debian's python3-srt, python3-webvtt) and prints
its cues as JSON, for the C++ format tests: [{"start": seconds, "end": seconds, "text": "..."}, ...].

  read_cues.py srt FILE
  read_cues.py vtt FILE

WebVTT cue text is markup: its character references (&amp; &lt; &gt;) are undone, as a player shows them.
Exits 1, with the parser's message on stderr, when the file does not parse.
"""
import html
import json
import sys


def main():
    kind, path = sys.argv[1], sys.argv[2]
    cues = []
    try:
        if kind == "srt":
            import srt
            with open(path, encoding="utf-8") as f:
                for c in srt.parse(f.read()):
                    cues.append({"index": c.index, "start": c.start.total_seconds(), "end": c.end.total_seconds(),
                                 "text": c.content})
        elif kind == "vtt":
            import webvtt
            for c in webvtt.read(path):
                cues.append({"start": c.start_in_seconds, "end": c.end_in_seconds,
                             "text": html.unescape(c.raw_text)})
        else:
            sys.exit("unknown kind " + kind)
    except Exception as e:  # any parser error: the file is not valid
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(cues, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
