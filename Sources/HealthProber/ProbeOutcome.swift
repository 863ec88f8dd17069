/// What one probe of one fleet server found: a report of a healthy answer, or a named failure.
public typealias ProbeOutcome = Result<HealthReport, ProbeFailure>
