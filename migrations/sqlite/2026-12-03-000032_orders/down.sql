DELETE FROM accounts WHERE kind = 'holds' AND last_seq = 0;
DROP TABLE order_settings;
DROP TABLE order_lines;
DROP TABLE orders;
