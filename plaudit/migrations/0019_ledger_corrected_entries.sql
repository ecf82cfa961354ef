-- Corrections and reversals name the entry they correct (source_kind 'ledger_entry',
-- source_id the entry's id). int_ledger_corrections_by_program sums them for the posted entries
-- it compares, a night's few thousand, where it read the whole ledger for them. Partial: the
-- feedback, nomination and bonus entries (nearly all of it) are not in it, so posting them writes
-- nothing more.
create index if not exists ledger_entries_corrected
    on plaudit.ledger_entries (source_id) where source_kind = 'ledger_entry';
