"""SAP targets: SuccessFactors Time Tracking (`successfactors`) and HCM on premise time events (`hcm`)."""
