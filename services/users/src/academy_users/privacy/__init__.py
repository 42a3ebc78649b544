"""A learner's rights over their data: the export of everything held (152-ФЗ art. 14) and the erasure
when they withdraw consent (art. 9 §2, art. 21 §5); and the re-encryption of personal data under a new key."""
