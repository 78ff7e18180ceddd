"""The processing register: the record of activities and the hash-chained journal."""
