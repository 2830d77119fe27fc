"""Flows: the plain functions that tie the engines (review, batch) to the adapters that publish
their records (github/). An adapter never imports a flow; the CLI builds the clients and calls one.
"""
