"""The context rules, one module per family; `RedFlagDetector._judge` asks them in order:

  figures       - an everyday idiom built on a red-flag word ("on my last legs")
  persons       - the last person mentioned up to the match is someone else,
                  unless a carer reports it happening now
  past          - long ago ("years ago", "as a kid", "used to"), or followed by a
                  resolution ("... but it went away"); not for signs whose history
                  is itself the flag (cancer, drug injecting)
  hypothetical  - a conditional ("what if", "in case", "if" in a question) before
                  the match in its clause, or a general question ("can facet pain
                  cause ...?") with no first-person experiencer in the clause
  negation      - a negation cue before the match in its clause, not cut off by a
                  new subject/verb/conjunction, or a bare "no" after it; never
                  when the match is hedged ("not sure if", "I think", "might")

Every rule takes the compiled `Knowledge`, the sentence and the match, and
answers only its own question.
"""
