DROP TABLE ledger_tree;
