-- A row's blind-index entries are found through its person (search_index_person), who has a
-- handful of rows, rather than through an index by (table_name, row_id) of their own: that index
-- took a B-tree insert for every entry written, a sixth of a legacy import's CPU (issue 5).
DROP INDEX search_index_row;
