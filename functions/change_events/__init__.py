"""Change events worker: Salesforce Change Data Capture from the Event Relay partner bus."""
