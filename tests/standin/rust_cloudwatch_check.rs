use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StateValue, ComparisonOperator, Statistic};
use std::time::{SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() {
    let conf = aws_config::from_env().region("us-east-1").load().await;
    let cw = aws_sdk_cloudwatch::Client::new(&conf);
    let dim = Dimension::builder().name("TargetGroup").value("targetgroup/web/abc").build();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    cw.put_metric_data().namespace("AWS/ApplicationELB")
        .metric_data(MetricDatum::builder().metric_name("RequestCount").dimensions(dim.clone()).value(200.0).timestamp(DateTime::from_secs_f64(now)).build())
        .metric_data(MetricDatum::builder().metric_name("HTTPCode_Target_5XX_Count").dimensions(dim.clone()).value(10.0).timestamp(DateTime::from_secs_f64(now)).build())
        .metric_data(MetricDatum::builder().metric_name("TargetResponseTime").dimensions(dim.clone()).set_values(Some((1..=100).map(|i| i as f64 / 100.0).collect())).timestamp(DateTime::from_secs_f64(now)).build())
        .send().await.expect("put_metric_data");
    let q = |id: &str, name: &str, stat: &str, ret: bool| MetricDataQuery::builder().id(id).return_data(ret)
        .metric_stat(MetricStat::builder().metric(Metric::builder().namespace("AWS/ApplicationELB").metric_name(name).dimensions(dim.clone()).build()).period(60).stat(stat).build()).build();
    let out = cw.get_metric_data()
        .metric_data_queries(q("m1", "HTTPCode_Target_5XX_Count", "Sum", false))
        .metric_data_queries(q("m2", "RequestCount", "Sum", false))
        .metric_data_queries(q("p99", "TargetResponseTime", "p99", true))
        .metric_data_queries(MetricDataQuery::builder().id("rate").expression("100*m1/m2").label("5xx rate").build())
        .start_time(DateTime::from_secs_f64(now - 600.0)).end_time(DateTime::from_secs_f64(now + 60.0))
        .send().await.expect("get_metric_data");
    for r in out.metric_data_results() {
        println!("RESULT {:?} {:?} {:?} {:?} {:?}", r.id(), r.label(), r.values(), r.timestamps(), r.status_code());
    }
    cw.put_metric_alarm().alarm_name("a1").namespace("AWS/ApplicationELB").metric_name("RequestCount").statistic(Statistic::Sum)
        .period(60).evaluation_periods(1).threshold(1.0).comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send().await.expect("put_metric_alarm");
    cw.set_alarm_state().alarm_name("a1").state_value(StateValue::Alarm).state_reason("t").send().await.expect("set_alarm_state");
    let alarms = cw.describe_alarms().alarm_names("a1").send().await.expect("describe_alarms");
    for a in alarms.metric_alarms() {
        println!("ALARM {:?} {:?} {:?}", a.alarm_name(), a.state_value(), a.state_updated_timestamp());
    }
    match cw.set_alarm_state().alarm_name("missing").state_value(StateValue::Ok).state_reason("t").send().await {
        Ok(_) => println!("ERROR expected"),
        Err(e) => { let se = e.into_service_error(); println!("ERR {:?} is_resource_not_found={}", se.meta().code(), se.is_resource_not_found()); }
    }
    let bad = cw.get_metric_data().metric_data_queries(MetricDataQuery::builder().id("e").expression("100*(m1").build())
        .start_time(DateTime::from_secs(10)).end_time(DateTime::from_secs(20)).send().await;
    if let Err(e) = bad { println!("ERR2 {:?}", e.into_service_error().meta().code()); }
}
