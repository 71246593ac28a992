DROP TABLE receivable_repayments;
DROP TABLE receivables;
