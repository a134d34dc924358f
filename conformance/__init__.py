"""postback-sim conformance suite: scenarios, rules and reports judging a postback receiver."""
