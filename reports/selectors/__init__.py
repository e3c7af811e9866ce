"""One module per report; each turns a `ReportScope` into `Table`s, reading the pre-aggregated rows or leads."""
