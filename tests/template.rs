//! What the linters do not check in template.yaml: the operational judgement.

use std::collections::BTreeSet;

use yaml_serde::Value;
use yaml_serde::value::TaggedValue;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml");
    yaml_serde::from_str(&text).expect("template.yaml is YAML")
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    let resource = &template["Resources"][name];
    assert!(!resource.is_null(), "resource {name} is missing");
    resource
}

fn properties<'a>(template: &'a Value, name: &str) -> &'a Value {
    &resource(template, name)["Properties"]
}

/// `!Ref X` or `!GetAtt X.Y` as ("Ref", "X") / ("GetAtt", "X.Y").
fn intrinsic(value: &Value) -> Option<(String, String)> {
    match value {
        Value::Tagged(tagged) => {
            let TaggedValue { tag, value } = tagged.as_ref();
            Some((
                tag.to_string().trim_start_matches('!').to_owned(),
                value.as_str()?.to_owned(),
            ))
        }
        _ => None,
    }
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{value:?} is not a number"))
}

/// Every (action, resource) pair of a function's inline policy statements that
/// always apply (not under an `!If`).
fn permissions(template: &Value, function: &str) -> Vec<(String, Value)> {
    policies(template, function)
        .into_iter()
        .filter(|(condition, _)| condition.is_none())
        .flat_map(|(_, policy)| statements(policy))
        .collect()
}

/// The (action, resource) pairs of the policies a function has only when
/// `condition` holds (`- !If [condition, policy, !Ref AWS::NoValue]`).
fn permissions_when(template: &Value, function: &str, condition: &str) -> Vec<(String, Value)> {
    policies(template, function)
        .into_iter()
        .filter(|(c, _)| c.as_deref() == Some(condition))
        .flat_map(|(_, policy)| statements(policy))
        .collect()
}

/// A function's policies, each with the condition it is under.
fn policies<'a>(template: &'a Value, function: &str) -> Vec<(Option<String>, &'a Value)> {
    properties(template, function)["Policies"]
        .as_sequence()
        .expect("Policies")
        .iter()
        .map(|policy| match policy {
            Value::Tagged(tagged) if tagged.tag == "If" => {
                let branches = tagged.value.as_sequence().expect("!If list");
                assert_eq!(
                    intrinsic(&branches[2]),
                    Some(("Ref".into(), "AWS::NoValue".into())),
                    "{function}: a conditional policy grants nothing otherwise"
                );
                (
                    Some(branches[0].as_str().expect("condition").to_owned()),
                    &branches[1],
                )
            }
            other => (None, other),
        })
        .collect()
}

fn statements(policy: &Value) -> Vec<(String, Value)> {
    let mut pairs = Vec::new();
    for statement in policy["Statement"].as_sequence().expect("Statement list") {
        assert_eq!(statement["Effect"], "Allow");
        let actions = match &statement["Action"] {
            Value::String(action) => vec![action.clone()],
            Value::Sequence(actions) => actions
                .iter()
                .map(|a| a.as_str().expect("action").to_owned())
                .collect(),
            other => panic!("odd Action {other:?}"),
        };
        for action in actions {
            pairs.push((action, statement["Resource"].clone()));
        }
    }
    pairs
}

#[test]
fn the_processor_reports_partial_batch_failures_spelled_as_lambda_expects() {
    // GIVEN the template
    let template = template();
    // WHEN the processor's queue event is read
    let event = &properties(&template, "ProcessorFunction")["Events"]["Queue"];
    assert_eq!(event["Type"], "SQS");
    assert_eq!(
        intrinsic(&event["Properties"]["Queue"]),
        Some(("GetAtt".into(), "EventQueue.Arn".into()))
    );
    let types: Vec<&str> = event["Properties"]["FunctionResponseTypes"]
        .as_sequence()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // THEN it reports partial batch failures and caps its concurrency
    assert_eq!(types, ["ReportBatchItemFailures"]);
    assert!(!event["Properties"]["ScalingConfig"]["MaximumConcurrency"].is_null());
}

#[test]
fn the_visibility_timeout_is_at_least_six_times_the_processor_timeout() {
    // GIVEN the template
    let template = template();
    // WHEN the queue's visibility and the processor's timeout are read
    let visibility = number(&properties(&template, "EventQueue")["VisibilityTimeout"]);
    let timeout = number(&properties(&template, "ProcessorFunction")["Timeout"]);
    // THEN the first is at least six times the second, as AWS advises
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} s < 6 x {timeout} s"
    );
}

#[test]
fn the_queue_dead_letters_after_max_receive_count_and_keeps_events_long_enough() {
    // GIVEN the template
    let template = template();
    // WHEN the queue and its dead-letter queue are read
    let queue = properties(&template, "EventQueue");
    // THEN failures move to the DLQ after MaxReceiveCount, both keep events long enough,
    // and the DLQ redrives back to the queue only
    let redrive = &queue["RedrivePolicy"];
    assert_eq!(
        intrinsic(&redrive["deadLetterTargetArn"]),
        Some(("GetAtt".into(), "DeadLetterQueue.Arn".into()))
    );
    assert_eq!(
        intrinsic(&redrive["maxReceiveCount"]),
        Some(("Ref".into(), "MaxReceiveCount".into()))
    );
    assert_eq!(number(&template["Parameters"]["MaxReceiveCount"]["Default"]), 5);
    assert_eq!(number(&queue["MaximumMessageSize"]), 1_048_576);
    assert_eq!(number(&queue["MessageRetentionPeriod"]), 4 * 24 * 3600);
    assert_eq!(queue["SqsManagedSseEnabled"], true);

    let dlq = properties(&template, "DeadLetterQueue");
    assert_eq!(number(&dlq["MessageRetentionPeriod"]), 14 * 24 * 3600);
    assert_eq!(
        number(&dlq["MaximumMessageSize"]),
        1_048_576,
        "a dead letter is as big as the event"
    );
    assert_eq!(dlq["SqsManagedSseEnabled"], true);
    assert_eq!(dlq["RedriveAllowPolicy"]["redrivePermission"], "byQueue");
    let source = intrinsic(&dlq["RedriveAllowPolicy"]["sourceQueueArns"][0])
        .expect("!Sub")
        .1;
    let queue_name = intrinsic(&queue["QueueName"]).expect("!Sub").1;
    assert!(
        source.ends_with(&queue_name),
        "redrive allow names {source}, the queue is {queue_name}"
    );
}

#[test]
fn no_function_has_a_wildcard_permission() {
    // GIVEN the template
    let template = template();
    // WHEN each function's policy statements are read
    // THEN no action and no resource is a wildcard
    for function in ["ReceiverFunction", "ProcessorFunction"] {
        let conditional = ["IdempotencyEnabled", "HasPimConnection", "HasTenants"]
            .into_iter()
            .flat_map(|condition| permissions_when(&template, function, condition));
        for (action, resource) in permissions(&template, function).into_iter().chain(conditional) {
            assert!(!action.contains('*'), "{function}: wildcard action {action}");
            assert_ne!(
                resource,
                Value::String("*".into()),
                "{function}: {action} on every resource"
            );
        }
    }
}

#[test]
fn the_receiver_may_only_send_to_the_queue_read_its_secret_and_store_large_events() {
    // GIVEN the template
    let template = template();
    // WHEN the receiver's permissions are read
    let receiver: BTreeSet<(String, Option<(String, String)>)> = permissions(&template, "ReceiverFunction")
        .into_iter()
        .map(|(a, r)| (a, intrinsic(&r)))
        .collect();
    // THEN they are exactly these two
    assert_eq!(
        receiver,
        BTreeSet::from([
            (
                "sqs:SendMessage".into(),
                Some(("GetAtt".into(), "EventQueue.Arn".into()))
            ),
            (
                "secretsmanager:GetSecretValue".into(),
                Some(("Ref".into(), "AkeneoSigningSecrets".into()))
            ),
            ("s3:PutObject".into(), Some(bucket_objects())),
        ])
    );
}

/// The objects of the large event bucket, as the template names them.
fn bucket_objects() -> (String, String) {
    ("Sub".into(), "${PayloadBucket.Arn}/*".into())
}

#[test]
fn the_processor_may_only_consume_the_queue_queue_catch_ups_dead_letter_and_store_read_and_delete_large_events()
 {
    // GIVEN the template
    let template = template();
    // WHEN the processor's permissions are read
    let processor: BTreeSet<(String, Option<(String, String)>)> = permissions(&template, "ProcessorFunction")
        .into_iter()
        .map(|(a, r)| (a, intrinsic(&r)))
        .collect();
    let on_queue = |action: &str| {
        (
            action.to_owned(),
            Some(("GetAtt".to_owned(), "EventQueue.Arn".to_owned())),
        )
    };
    // THEN they are exactly these
    assert_eq!(
        processor,
        BTreeSet::from([
            on_queue("sqs:ReceiveMessage"),
            on_queue("sqs:DeleteMessage"),
            on_queue("sqs:ChangeMessageVisibility"),
            on_queue("sqs:GetQueueAttributes"),
            // A catch-up job queues its page's events and the next page's job.
            on_queue("sqs:SendMessage"),
            (
                "sqs:SendMessage".into(),
                Some(("GetAtt".into(), "DeadLetterQueue.Arn".into()))
            ),
            ("s3:PutObject".into(), Some(bucket_objects())),
            ("s3:GetObject".into(), Some(bucket_objects())),
            ("s3:DeleteObject".into(), Some(bucket_objects())),
            // Only so that a missing object is a 404 (dead-lettered at once), not a 403.
            (
                "s3:ListBucket".into(),
                Some(("GetAtt".into(), "PayloadBucket.Arn".into()))
            ),
        ])
    );
}

#[test]
fn the_scheduled_catch_up_is_off_by_default_and_may_only_queue_its_job() {
    // GIVEN the template
    let template = template();
    // WHEN the reconciliation's parameter, schedule and role are read
    let parameter = &template["Parameters"]["ReconciliationHours"];
    let schedule = resource(&template, "ReconciliationSchedule");
    let role = resource(&template, "ReconciliationRole");
    // THEN it is off unless hours are chosen and a PIM is connected, every choice is a
    // rate EventBridge Scheduler takes (plural units), and the role may only send to the queue
    assert_eq!(parameter["Default"].as_str(), Some("0"));
    let hours: Vec<&str> = parameter["AllowedValues"]
        .as_sequence()
        .expect("allowed values")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        hours
            .iter()
            .all(|h| *h == "0" || h.parse::<u32>().is_ok_and(|n| n >= 2)),
        "{hours:?}"
    );
    assert_eq!(schedule["Condition"].as_str(), Some("ReconcilesOnSchedule"));
    assert_eq!(role["Condition"].as_str(), Some("ReconcilesOnSchedule"));
    let statements = &role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    assert_eq!(statements.as_sequence().map(Vec::len), Some(1));
    assert_eq!(statements[0]["Action"].as_str(), Some("sqs:SendMessage"));
    assert_eq!(
        intrinsic(&statements[0]["Resource"]),
        Some(("GetAtt".to_owned(), "EventQueue.Arn".to_owned()))
    );
}

#[test]
fn the_pim_connection_is_optional_and_only_the_processor_reads_its_secret() {
    // GIVEN the template
    let template = template();
    // WHEN the PIM parameters, secret and the processor's use of it are read
    let parameters = &template["Parameters"];
    let secret = resource(&template, "PimConnectionSecret");
    let reads: Vec<_> = permissions_when(&template, "ProcessorFunction", "HasPimConnection")
        .into_iter()
        .map(|(action, resource)| (action, intrinsic(&resource)))
        .collect();
    let environment = &properties(&template, "ProcessorFunction")["Environment"]["Variables"];
    // THEN the secret exists only with a PIM URL, from NoEcho credentials, the
    // processor may read exactly it under the same condition, and it is told where it is
    assert_eq!(parameters["PimUrl"]["Default"], "");
    for credential in ["PimClientId", "PimClientSecret", "PimUsername", "PimPassword"] {
        assert_eq!(parameters[credential]["NoEcho"], true, "{credential}");
    }
    assert_eq!(secret["Condition"], "HasPimConnection");
    let document = intrinsic(&secret["Properties"]["SecretString"]).expect("!Sub").1;
    for field in ["client_id", "client_secret", "username", "password"] {
        assert!(document.contains(&format!("\"{field}\"")), "{field} missing");
    }
    assert_eq!(
        reads,
        [(
            "secretsmanager:GetSecretValue".to_owned(),
            Some(("Ref".to_owned(), "PimConnectionSecret".to_owned()))
        )]
    );
    assert!(permissions_when(&template, "ReceiverFunction", "HasPimConnection").is_empty());
    assert_eq!(
        intrinsic(&environment[shared::config::PIM_URL]),
        Some(("Ref".into(), "PimUrl".into()))
    );
    let arn = match &environment[shared::config::PIM_SECRET_ARN] {
        Value::Tagged(tagged) if tagged.tag == "!If" => tagged.value.clone(),
        other => panic!("PIM_SECRET_ARN is not conditional: {other:?}"),
    };
    assert_eq!(arn[0], "HasPimConnection");
    assert_eq!(
        intrinsic(&arn[1]),
        Some(("Ref".into(), "PimConnectionSecret".into()))
    );
}

#[test]
fn by_default_every_processor_instance_together_stays_within_akeneos_4_calls_per_connection() {
    // GIVEN the template's defaults and the code's
    let template = template();
    let parameters = &template["Parameters"];
    let per_instance = number(&parameters["PimMaxConcurrentCalls"]["Default"]);
    let instances = number(&parameters["ProcessorMaximumConcurrency"]["Default"]);
    // WHEN they are multiplied
    // THEN at most 4 calls are in flight for the connection, the code defaults to the
    // same per-instance limit, and no single instance may exceed 4
    assert!(
        per_instance * instances <= 4,
        "{per_instance} calls x {instances} instances"
    );
    assert_eq!(per_instance, shared::config::DEFAULT_MAX_CONCURRENT_CALLS as u64);
    assert!(number(&parameters["PimMaxConcurrentCalls"]["MaxValue"]) <= 4);
    let scaling =
        &properties(&template, "ProcessorFunction")["Events"]["Queue"]["Properties"]["ScalingConfig"];
    assert_eq!(
        intrinsic(&scaling["MaximumConcurrency"]),
        Some(("Ref".into(), "ProcessorMaximumConcurrency".into()))
    );
}

#[test]
fn the_large_event_bucket_is_private_encrypted_and_outlives_every_pointer_but_no_longer() {
    // GIVEN the template
    let template = template();
    // WHEN the bucket, its policy and the two queues are read
    let bucket = properties(&template, "PayloadBucket");
    // THEN it blocks every kind of public access and owns its objects
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting], true, "{setting}");
    }
    assert_eq!(
        bucket["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        "BucketOwnerEnforced"
    );
    // AND encrypts objects at rest and refuses them over plain HTTP
    let encryption = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "AES256"
    );
    let policy = properties(&template, "PayloadBucketPolicy");
    assert_eq!(
        intrinsic(&policy["Bucket"]),
        Some(("Ref".into(), "PayloadBucket".into()))
    );
    let deny = &policy["PolicyDocument"]["Statement"][0];
    assert_eq!(
        (&deny["Effect"], &deny["Condition"]["Bool"]["aws:SecureTransport"]),
        (&Value::from("Deny"), &Value::from("false"))
    );
    // AND expires each object once neither the queue nor the DLQ can hold its pointer, not before
    let rules = bucket["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .expect("rules");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["Status"], "Enabled");
    assert!(rules[0]["Prefix"].is_null() && rules[0]["TagFilters"].is_null());
    let expiry_secs = number(&rules[0]["ExpirationInDays"]) * 24 * 3600;
    let retention = number(&properties(&template, "EventQueue")["MessageRetentionPeriod"])
        + number(&properties(&template, "DeadLetterQueue")["MessageRetentionPeriod"]);
    assert!(expiry_secs >= retention, "objects expire before their pointers");
    assert!(
        expiry_secs < retention + 2 * 24 * 3600,
        "objects outlive their pointers by days"
    );
}

#[test]
fn the_receiver_sends_through_s3_exactly_what_the_queue_cannot_take() {
    // GIVEN the template
    let template = template();
    // WHEN the receiver's environment and the queue are read
    let variables = &properties(&template, "ReceiverFunction")["Environment"]["Variables"];
    // THEN large events go to the bucket, above the queue's own maximum message size
    assert_eq!(
        intrinsic(&variables[shared::config::PAYLOAD_BUCKET]),
        Some(("Ref".into(), "PayloadBucket".into()))
    );
    let threshold: u64 = variables[shared::config::QUEUE_MAX_MESSAGE_BYTES]
        .as_str()
        .expect("a string")
        .parse()
        .expect("a number");
    assert_eq!(
        threshold,
        number(&properties(&template, "EventQueue")["MaximumMessageSize"])
    );
}

#[test]
fn functions_are_built_from_this_workspaces_binaries_and_log_json() {
    // GIVEN the template
    let template = template();
    // WHEN the functions' runtime and build metadata are read
    // THEN each is a provided.al2023 bootstrap built by cargo-lambda from a workspace binary
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Handler"], "bootstrap");
    for (function, binary) in [
        ("ReceiverFunction", "receiver"),
        ("ProcessorFunction", "processor"),
    ] {
        let metadata = &resource(&template, function)["Metadata"];
        assert_eq!(metadata["BuildMethod"], "rust-cargolambda");
        assert_eq!(metadata["BuildProperties"]["Binary"], binary);
        let manifest = format!("{}/../functions/{binary}/Cargo.toml", env!("CARGO_MANIFEST_DIR"));
        let manifest = std::fs::read_to_string(&manifest).expect("function crate");
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "{binary} is not a workspace binary"
        );
        assert_eq!(
            properties(&template, function)["LoggingConfig"]["LogFormat"],
            "JSON"
        );
    }
}

#[test]
fn functions_set_the_variables_the_code_reads() {
    // GIVEN the template
    let template = template();
    // WHEN each function's environment is read
    let variables = |function: &str| -> BTreeSet<String> {
        properties(&template, function)["Environment"]["Variables"]
            .as_mapping()
            .expect("variables")
            .keys()
            .map(|k| k.as_str().expect("name").to_owned())
            .collect()
    };
    use shared::config::*;
    // THEN it names every variable the configuration loader reads
    let receiver = variables("ReceiverFunction");
    for name in [
        QUEUE_URL,
        SECRETS_ARN,
        SECRETS_REFRESH_SECS,
        EVENTS_API_TOLERANCE_SECS,
        PAYLOAD_BUCKET,
        QUEUE_MAX_MESSAGE_BYTES,
        TENANTS_SECRET_ARN,
        shared::observability::metrics::NAMESPACE_VARIABLE,
    ] {
        assert!(receiver.contains(name), "receiver lacks {name}");
    }
    let processor = variables("ProcessorFunction");
    for name in [
        QUEUE_URL,
        DEAD_LETTER_QUEUE_URL,
        PROCESSOR_CONCURRENCY,
        BACKOFF_CAP_SECS,
        PIM_URL,
        PIM_SECRET_ARN,
        PIM_MAX_CONCURRENT_CALLS,
        PIM_SKIP_OWN_EVENTS,
        PIM_IGNORE_AUTHORS,
        PIM_USER_UUID,
        PAYLOAD_DELETE_WHEN_DONE,
        TENANT_PIMS_SECRET_ARN,
    ] {
        assert!(processor.contains(name), "processor lacks {name}");
    }
}

#[test]
fn the_receiver_is_public_and_its_timeout_fits_the_protocol_deadlines() {
    // GIVEN the template
    let template = template();
    // WHEN the receiver is read
    let receiver = properties(&template, "ReceiverFunction");
    // THEN its URL needs no AWS auth, it outlives its queue budget but not by much,
    // and the secrets are NoEcho
    assert_eq!(receiver["FunctionUrlConfig"]["AuthType"], "NONE");
    let timeout = number(&receiver["Timeout"]);
    let budget = shared::Protocol::EventPlatform.queue_budget().as_secs();
    assert!(
        timeout > budget,
        "the receiver must outlive its own {budget} s queue budget, has {timeout} s"
    );
    assert!(
        timeout <= 10,
        "a request Akeneo gave up on long ago should not keep running"
    );
    assert_eq!(template["Parameters"]["EventsApiSecrets"]["NoEcho"], true);
    assert_eq!(template["Parameters"]["EventPlatformSecrets"]["NoEcho"], true);
}

#[test]
fn alarms_watch_the_failures_that_lose_or_delay_events_and_notify_the_topic() {
    // GIVEN the template
    let template = template();
    // WHEN every alarm is read
    // THEN each notifies the topic, and together they watch these metrics
    let mut watched = BTreeSet::new();
    for (name, resource) in template["Resources"].as_mapping().expect("resources") {
        if resource["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let alarm = &resource["Properties"];
        assert_eq!(
            intrinsic(&alarm["AlarmActions"][0]),
            Some(("Ref".into(), "AlarmTopic".into())),
            "{name:?} notifies nobody"
        );
        let dimension = intrinsic(&alarm["Dimensions"][0]["Value"])
            .map(|(_, v)| v)
            .unwrap_or_default();
        watched.insert((
            alarm["MetricName"].as_str().expect("metric").to_owned(),
            dimension,
        ));
    }
    for expected in [
        ("ApproximateNumberOfMessagesVisible", "DeadLetterQueue.QueueName"),
        ("ApproximateAgeOfOldestMessage", "EventQueue.QueueName"),
        ("Url5xxCount", "ReceiverFunction"),
        ("Errors", "ReceiverFunction"),
        // By name, which the stack's processor or an external one has.
        ("Errors", "${AWS::StackName}-processor"),
        ("Throttles", "${AWS::StackName}-processor"),
        ("PimReadFailures", ""),
        ("ProcessorFailures", ""),
        ("SubscriptionSuspended", ""),
    ] {
        assert!(
            watched.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "no alarm on {expected:?}"
        );
    }
    assert_eq!(
        intrinsic(&properties(&template, "ProcessorFunction")["FunctionName"]),
        Some(("Sub".into(), "${AWS::StackName}-processor".into()))
    );
}

#[test]
fn a_suspended_subscription_alarms_until_a_resume_clears_it() {
    // GIVEN the template
    let template = template();
    // WHEN the suspension alarm is read
    let alarm = properties(&template, "SubscriptionSuspendedAlarm");
    // THEN a 1 raises it within a minute, silence keeps its state, and the resume's 0 clears it (with a message)
    assert_eq!(alarm["MetricName"], "SubscriptionSuspended");
    assert_eq!(
        (alarm["Statistic"].as_str(), number(&alarm["Period"])),
        (Some("Maximum"), 60)
    );
    assert_eq!(number(&alarm["Threshold"]), 1);
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    assert_eq!(alarm["TreatMissingData"], "ignore");
    assert_eq!(
        intrinsic(&alarm["OKActions"][0]),
        Some(("Ref".into(), "AlarmTopic".into()))
    );
}

#[test]
fn the_notification_secret_is_a_hidden_parameter_in_the_document_the_receiver_reads() {
    // GIVEN the template
    let template = template();
    // WHEN the parameter and the signing secrets' document are read
    let parameter = &template["Parameters"]["EventPlatformNotificationSecret"];
    let document = match &properties(&template, "AkeneoSigningSecrets")["SecretString"] {
        Value::Tagged(tagged) => tagged.value.as_str().map(str::to_owned).unwrap_or_default(),
        other => panic!("SecretString is not a !Sub: {other:?}"),
    };
    // THEN the secret is never shown and lands under the key the receiver parses
    assert_eq!(parameter["NoEcho"], true);
    assert!(
        document.contains(r#""notification_secret":"${EventPlatformNotificationSecret}""#),
        "{document}"
    );
}

#[test]
fn outputs_give_both_request_urls_the_queues_and_the_dashboard() {
    // GIVEN the template
    let template = template();
    // WHEN its outputs are read
    // THEN they give both Request URLs on the routes the code serves, the queues and the dashboard
    let outputs = &template["Outputs"];
    for (output, suffix) in [
        ("EventsApiRequestUrl", "events-api"),
        ("EventPlatformRequestUrl", "event-platform"),
    ] {
        let url = intrinsic(&outputs[output]["Value"]).expect("!Sub").1;
        assert_eq!(url, format!("${{ReceiverFunctionUrl.FunctionUrl}}{suffix}"));
        assert_eq!(
            shared::Protocol::from_name(suffix).map(|p| p.path()),
            Some(format!("/{suffix}").as_str())
        );
    }
    assert_eq!(
        intrinsic(&outputs["QueueUrl"]["Value"]),
        Some(("Ref".into(), "EventQueue".into()))
    );
    assert_eq!(
        intrinsic(&outputs["DeadLetterQueueUrl"]["Value"]),
        Some(("Ref".into(), "DeadLetterQueue".into()))
    );
    // The CLI (subscribe, rotate-secret, doctor) finds the deployment by these names.
    use shared::config::stack_outputs::{PROCESSOR_LOG_GROUP, SIGNING_SECRETS_ARN};
    assert_eq!(
        intrinsic(&outputs[SIGNING_SECRETS_ARN]["Value"]),
        Some(("Ref".into(), "AkeneoSigningSecrets".into()))
    );
    assert_eq!(
        intrinsic(&outputs[PROCESSOR_LOG_GROUP]["Value"]),
        Some(("Ref".into(), "ProcessorLogGroup".into()))
    );
    assert!(
        intrinsic(&outputs["DashboardUrl"]["Value"])
            .expect("!Sub")
            .1
            .contains("#dashboards:name=${Dashboard}")
    );
}

#[test]
fn the_dashboard_body_is_json_and_shows_every_custom_metric() {
    // GIVEN the template
    let template = template();
    // WHEN the dashboard body is read, its substitutions filled
    // THEN it is JSON with every widget and every custom metric
    let body = match &properties(&template, "Dashboard")["DashboardBody"] {
        Value::Tagged(tagged) => tagged.value[0].as_str().expect("body").to_owned(),
        other => panic!("DashboardBody is not a !Sub: {other:?}"),
    };
    let mut substituted = String::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("${") {
        substituted.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        substituted.push('X');
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let parsed: serde_json::Value = serde_json::from_str(&substituted).expect("dashboard JSON");
    assert!(parsed["widgets"].as_array().is_some_and(|w| w.len() >= 6));
    for metric in [
        "EventsReceived",
        "EventsQueued",
        "SignatureFailures",
        "EventsProcessed",
        "EventsRetried",
        "EventsDeadLettered",
        "DuplicatesSkipped",
        "StaleSkipped",
        "IdempotencyStoreErrors",
        "PimReadFailures",
        "OwnEventsSkipped",
        "ProcessorFailures",
        "LargeEventsStored",
        "PayloadStoreFailures",
    ] {
        assert!(body.contains(metric), "dashboard lacks {metric}");
    }
}

#[test]
fn the_idempotency_table_is_on_demand_keyed_and_expired_as_the_adapter_expects() {
    // GIVEN the template
    let template = template();
    // WHEN the idempotency table is read
    let table = resource(&template, "IdempotencyTable");
    let properties = &table["Properties"];
    // THEN it exists only when enabled (the default), bills per request, is keyed by
    // the adapter's key and expires items through TTL on the adapter's attribute
    use shared::adapters::aws::dynamodb::{EXPIRES_AT, KEY};
    assert_eq!(table["Condition"], "IdempotencyEnabled");
    assert_eq!(template["Parameters"]["Idempotency"]["Default"], "Enabled");
    let Value::Tagged(condition) = &template["Conditions"]["IdempotencyEnabled"] else {
        panic!("IdempotencyEnabled is not an intrinsic");
    };
    assert_eq!(condition.tag, "Equals");
    assert_eq!(
        intrinsic(&condition.value[0]),
        Some(("Ref".into(), "Idempotency".into()))
    );
    assert_eq!(condition.value[1], "Enabled");
    assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(properties["KeySchema"][0]["AttributeName"], KEY);
    assert_eq!(properties["KeySchema"][0]["KeyType"], "HASH");
    assert_eq!(properties["AttributeDefinitions"][0]["AttributeName"], KEY);
    assert_eq!(properties["AttributeDefinitions"][0]["AttributeType"], "S");
    assert_eq!(properties["TimeToLiveSpecification"]["AttributeName"], EXPIRES_AT);
    assert_eq!(properties["TimeToLiveSpecification"]["Enabled"], true);
    assert!(
        properties["ProvisionedThroughput"].is_null(),
        "on demand has no provisioned capacity"
    );
}

#[test]
fn the_processor_may_only_put_delete_and_batch_get_on_its_table_and_only_when_enabled() {
    // GIVEN the template
    let template = template();
    // WHEN the processor's conditional permissions are read
    let granted: BTreeSet<(String, Option<(String, String)>)> =
        permissions_when(&template, "ProcessorFunction", "IdempotencyEnabled")
            .into_iter()
            .map(|(a, r)| (a, intrinsic(&r)))
            .collect();
    // THEN they are exactly the three actions the adapter calls, on the table
    let on_table = |action: &str| {
        (
            action.to_owned(),
            Some(("GetAtt".to_owned(), "IdempotencyTable.Arn".to_owned())),
        )
    };
    assert_eq!(
        granted,
        BTreeSet::from([
            on_table("dynamodb:PutItem"),
            on_table("dynamodb:DeleteItem"),
            on_table("dynamodb:BatchGetItem"),
        ])
    );
    // ... and the receiver has none
    assert!(permissions_when(&template, "ReceiverFunction", "IdempotencyEnabled").is_empty());
}

#[test]
fn the_processor_is_told_the_table_only_when_idempotency_is_enabled() {
    // GIVEN the template
    let template = template();
    // WHEN the processor's idempotency variables are read
    let variables = &properties(&template, "ProcessorFunction")["Environment"]["Variables"];
    use shared::config::{IDEMPOTENCY_TABLE, IDEMPOTENCY_WINDOW_DAYS};
    // THEN each is set under the condition, and absent otherwise
    for (name, value) in [
        (IDEMPOTENCY_TABLE, ("Ref", "IdempotencyTable")),
        (IDEMPOTENCY_WINDOW_DAYS, ("Ref", "IdempotencyWindowDays")),
    ] {
        let Value::Tagged(tagged) = &variables[name] else {
            panic!("{name} is not an !If");
        };
        assert_eq!(tagged.tag, "If", "{name}");
        let branches = tagged.value.as_sequence().expect("!If list");
        assert_eq!(branches[0], "IdempotencyEnabled", "{name}");
        assert_eq!(
            intrinsic(&branches[1]),
            Some((value.0.to_owned(), value.1.to_owned()))
        );
        assert_eq!(
            intrinsic(&branches[2]),
            Some(("Ref".into(), "AWS::NoValue".into()))
        );
    }
    assert_eq!(
        number(&template["Parameters"]["IdempotencyWindowDays"]["Default"]),
        14
    );
}

#[test]
fn the_processor_may_publish_only_to_its_bus_and_read_only_its_forwarding_secret() {
    // GIVEN the template
    let template = template();
    // WHEN the permissions each destination adds are read
    let publish = permissions_when(&template, "ProcessorFunction", "PublishesToBus");
    let forward: Vec<_> = permissions_when(&template, "ProcessorFunction", "ForwardsToHttps")
        .into_iter()
        .map(|(action, resource)| (action, intrinsic(&resource)))
        .collect();
    // THEN publishing is PutEvents on the chosen bus alone (the stack's or the one named)
    assert_eq!(publish.len(), 1, "{publish:?}");
    assert_eq!(publish[0].0, "events:PutEvents");
    let bus = match &publish[0].1 {
        Value::Tagged(tagged) if tagged.tag == "If" => tagged.value.clone(),
        other => panic!("the bus is not chosen by condition: {other:?}"),
    };
    assert_eq!(bus[0], "CreatesOwnBus");
    assert_eq!(intrinsic(&bus[1]), Some(("GetAtt".into(), "EventBus.Arn".into())));
    assert_eq!(intrinsic(&bus[2]), Some(("Ref".into(), "EventBusArn".into())));
    // AND forwarding reads exactly its secret
    assert_eq!(
        forward,
        [(
            "secretsmanager:GetSecretValue".to_owned(),
            Some(("Ref".to_owned(), "ForwardSecret".to_owned()))
        )]
    );
    // AND the stack's own bus keeps an archive for replays, only when it is created
    assert_eq!(resource(&template, "EventBus")["Condition"], "CreatesOwnBus");
    assert_eq!(resource(&template, "EventArchive")["Condition"], "CreatesOwnBus");
    assert_eq!(
        intrinsic(&properties(&template, "EventArchive")["RetentionDays"]),
        Some(("Ref".into(), "EventArchiveRetentionDays".into()))
    );
}

#[test]
fn the_processor_is_told_its_destination_and_failures_there_alarm() {
    // GIVEN the template
    let template = template();
    // WHEN the processor's environment, the alarms and the dashboard are read
    let environment = &properties(&template, "ProcessorFunction")["Environment"]["Variables"];
    use shared::config::*;
    // THEN every destination variable the code reads is set
    for name in [
        DESTINATION,
        EVENT_BUS,
        FORWARD_URL,
        FORWARD_SECRET_ARN,
        FORWARD_CONCURRENCY,
    ] {
        assert!(!environment[name].is_null(), "processor lacks {name}");
    }
    assert_eq!(template["Parameters"]["Destination"]["Default"], "logic");
    // AND failed publishes and forwards alarm, each with its destination
    for (alarm, metric, condition) in [
        ("PublishFailuresAlarm", "PublishFailures", "PublishesToBus"),
        ("ForwardFailuresAlarm", "ForwardFailures", "ForwardsToHttps"),
    ] {
        assert_eq!(properties(&template, alarm)["MetricName"], metric);
        assert_eq!(resource(&template, alarm)["Condition"], condition);
    }
    let dashboard = format!("{:?}", properties(&template, "Dashboard")["DashboardBody"]);
    for metric in [
        "EventsPublished",
        "PublishFailures",
        "EventsForwarded",
        "ForwardFailures",
    ] {
        assert!(dashboard.contains(metric), "dashboard lacks {metric}");
    }
}

#[test]
fn tenants_are_off_by_default_and_when_on_the_receiver_reads_their_routes_and_only_the_processor_their_pims()
{
    // GIVEN the template
    let template = template();
    // WHEN the tenants parameter, secrets, permissions and variables are read
    let reads = |function: &str| -> Vec<(String, Option<(String, String)>)> {
        permissions_when(&template, function, "HasTenants")
            .into_iter()
            .map(|(action, resource)| (action, intrinsic(&resource)))
            .collect()
    };
    let variable = |function: &str, name: &str| match &properties(&template, function)["Environment"]["Variables"]
        [name]
    {
        Value::Tagged(tagged) if tagged.tag == "!If" => tagged.value.clone(),
        other => panic!("{function}: {name} is not conditional: {other:?}"),
    };
    let reading = |secret: &str| {
        vec![(
            "secretsmanager:GetSecretValue".to_owned(),
            Some(("Ref".to_owned(), secret.to_owned())),
        )]
    };
    // THEN it is off by default (single-PIM deployments unchanged); both secrets start
    // empty and never change with the parameters; the receiver, open to the internet,
    // reads the routes only, never a PIM credential, and the processor the PIMs only
    assert_eq!(template["Parameters"]["Tenants"]["Default"], "Disabled");
    for secret in ["TenantsSecret", "TenantPimsSecret"] {
        assert_eq!(resource(&template, secret)["Condition"], "HasTenants");
        assert_eq!(properties(&template, secret)["SecretString"], r#"{"tenants":{}}"#);
    }
    assert_eq!(reads("ReceiverFunction"), reading("TenantsSecret"));
    assert_eq!(reads("ProcessorFunction"), reading("TenantPimsSecret"));
    for (function, name, secret) in [
        (
            "ReceiverFunction",
            shared::config::TENANTS_SECRET_ARN,
            "TenantsSecret",
        ),
        (
            "ProcessorFunction",
            shared::config::TENANT_PIMS_SECRET_ARN,
            "TenantPimsSecret",
        ),
    ] {
        let arn = variable(function, name);
        assert_eq!(arn[0], "HasTenants", "{function}");
        assert_eq!(
            intrinsic(&arn[1]),
            Some(("Ref".into(), secret.into())),
            "{function}"
        );
    }
    for output in [
        shared::config::stack_outputs::TENANTS_SECRET_ARN_OUTPUT,
        shared::config::stack_outputs::TENANT_PIMS_SECRET_ARN_OUTPUT,
    ] {
        assert_eq!(template["Outputs"][output]["Condition"], "HasTenants", "{output}");
    }
}
