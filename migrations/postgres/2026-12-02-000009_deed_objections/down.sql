DROP TABLE deed_objections;
