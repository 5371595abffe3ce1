"""Chinese full-text search of listed resources (segmentation, index, backends, highlighting).

``tokenize`` segments text (jieba) and adds pinyin; ``index`` turns a resource into its
``SearchDocument``; ``backends`` holds the database-specific parts (SQLite FTS5, PostgreSQL
full text) behind one interface; ``highlight`` cuts snippets into marked segments. The query
function is ``resources.queries.search.search_resources``.
"""
