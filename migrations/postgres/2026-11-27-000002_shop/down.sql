DROP TABLE redemption_lines;
DROP TABLE redemptions;
DROP TABLE stock_movements;
DROP TABLE goods;
