"""What the tests share: builders of inputs, small worlds of configuration and data, emulator helpers,
and the oracle (a slow, obvious implementation of the rules the engine is checked against).

The world and its scenarios:
    world               `World`: a customer folder, its configuration from parts, CLI, sync, store, files
    cutoff_world        three employees in October 2025, payroll and adjustments CSV targets (cut-off, retention)
    reconcile_world     four employees delivered to the Odoo and Salesforce emulators (reconciliation)
    open_days_world     a day without a check-out, to a CSV folder or Odoo (`open_days:`)
    keeping_target      the `keeper` target that keeps less precision, and `KeeperWorld` delivering to it
    two_sites           the two-site acceptance customer: people, punches, leaves, configuration
    two_sites_run       one run of the two-site scenario, step by step, per target
    two_sites_targets   every HTTP target's emulator seeded with the two-site customer

Builders of inputs:
    builders            rule sets, shifts and punch frames for the rules engine
    mapping_fixtures    processed days, employees and mapping files for the mapping tests
    store_data          small frames and records for the store tests
    target_fixtures     batches of processed days and SFTP settings for the payroll-file targets
    erpnext_builders, salesforce_builders, sap_builders, zoho_builders, odoo_days
                        records, batches and raw calls for each target's tests

Kits and emulator helpers:
    employee_kit        employee sync: configuration files, settings, an in-process run
    minop_kit           Minop: a manual clock, configuration files, the CLI in-process
    jobs_helpers        scheduler and run history: a small sync setup, recorded tasks
    receiver_kit        the receiver on loopback with a clock the test moves, signing
    hook_recorder       a plugin recording every lifecycle hook call
    odoo_servers        the Odoo emulator on loopback and target settings that reach it
    odoo_wire           a bare client for the Odoo emulator's three protocols
    report_files        a reconciliation report's CSV rows and HTML text
    png_pixels          a small PNG reader for screenshot checks
    bench               the benchmarks' data generator

The oracle:
    oracle              the reference implementation of the attendance rules
"""
