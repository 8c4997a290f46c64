"""The default's rules with the hold's share kept: ``scripts/judge_rules.py`` with the rules'
penalties spread over the other notes only.

    python experiments/hold_mass/run.py [judge_rules.py's options]

A penalty on some notes (a leap, a parallel, a rare chord) renormalises the draw over every
other token, the voice's held pitch included; at a 16th where holding is likely most of the
penalised mass goes to holding, so the rules slow the music down. Here the held pitch keeps
the probability it had before the rules (where no rule touched it) and the penalised mass is
shared among the other notes.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))


def keep_hold(apply):  # type: ignore[no-untyped-def]
    from keras import ops

    def patched(rules, logits, context):  # type: ignore[no-untyped-def]
        before = ops.cast(logits, "float32")
        after = apply(rules, logits, context)
        held = ops.take(context.previous, context.voice, axis=1)  # (batch,)
        hold = ops.expand_dims(context.pitches, 0) == ops.expand_dims(held, 1)
        hold = ops.logical_and(hold, context.step > 0)
        touched = ops.any(
            ops.logical_and(hold, ops.not_equal(after, before)), axis=1, keepdims=True
        )
        lp = ops.log_softmax(before, axis=-1)
        lq = ops.log_softmax(after, axis=-1)
        zero = ops.zeros_like(lp)
        a = ops.sum(ops.where(hold, ops.exp(lp), zero), axis=1, keepdims=True)
        b = ops.sum(ops.where(hold, ops.exp(lq), zero), axis=1, keepdims=True)
        tiny = 1e-6
        usable = ops.logical_and(
            ops.logical_not(touched), ops.logical_and(1 - a > tiny, 1 - b > tiny)
        )
        scale = ops.log(ops.maximum(1 - a, tiny)) - ops.log(ops.maximum(1 - b, tiny))
        kept = ops.where(hold, lp, lq + scale)
        return ops.where(usable, kept, lq)

    return patched


if __name__ == "__main__":
    from bachnet.generation import decoder

    decoder.apply_rules = keep_hold(decoder.apply_rules)
    import judge_rules

    judge_rules.main()
