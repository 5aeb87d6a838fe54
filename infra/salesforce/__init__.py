"""The Salesforce metadata a real org deploys for the hub (SFDX source format), generated from
`shared/connectors/salesforce/health.py` by `python -m infra.salesforce`."""
