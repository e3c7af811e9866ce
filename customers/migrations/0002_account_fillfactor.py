from django.db import migrations


class Migration(migrations.Migration):
    """Customer rows keep a third of each page free, so that writing an account's order totals (after every order,
    and for every customer an import touches) updates the row in place (a HOT update: the totals are not indexed)
    instead of adding an entry to each of the table's eight indexes. Applies to pages written from then on."""

    dependencies = [("customers", "0001_customers")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE customers_account SET (fillfactor = 70)",
            "ALTER TABLE customers_account RESET (fillfactor)",
        )
    ]
