"""Verification of the hash-chained change log."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import GENESIS_HASH, ChainHead, ChangeRecord


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of walking the chain: how far it holds, and the first entry that breaks."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_changelog(*, batch_size: int = 5000) -> ChainVerification:
    """Walk every record in order, recomputing hashes; name the first entry that does not match.

    Detects an edited record (its hash no longer matches its content), a deleted or inserted
    record (a sequence gap, or a ``prev_hash`` that does not link), and a removed tail (the chain
    head points past the last record).
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        chunk = list(
            ChangeRecord.objects.filter(seq__gte=expected_seq).order_by("seq")[:batch_size]
        )
        if not chunk:
            break
        for record in chunk:
            if record.seq != expected_seq:
                return ChainVerification(
                    False,
                    checked,
                    expected_seq,
                    _("Entry #%(seq)s is missing from the chain.") % {"seq": expected_seq},
                )
            if record.prev_hash != expected_prev:
                return ChainVerification(
                    False,
                    checked,
                    record.seq,
                    _("Entry #%(seq)s does not link to the entry before it.") % {"seq": record.seq},
                )
            if record.compute_hash() != record.hash:
                return ChainVerification(
                    False,
                    checked,
                    record.seq,
                    _("The content of entry #%(seq)s no longer matches its hash.")
                    % {"seq": record.seq},
                )
            expected_prev = record.hash
            expected_seq += 1
            last_seq = record.seq
            checked += 1
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != last_seq or head.hash != expected_prev):
        return ChainVerification(
            False,
            checked,
            last_seq + 1,
            _("The chain head expects %(head)s entries but only %(count)s remain.")
            % {"head": head.seq, "count": last_seq},
        )
    return ChainVerification(True, checked)
