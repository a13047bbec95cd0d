"""The officials' daily digest: figures assembled per agency, the text and the chart."""
