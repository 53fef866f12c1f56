"""核酸数据统计 and 疫苗数据统计 (§2.4.1): the two tables, their drill-down lists and exports, computed
over the health roster (services/health/roster.py) of the caller's scope."""
