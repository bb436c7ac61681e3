// EC2 quotas that shape what Leaven asks for, shared by the planner (to stay under them) and the simulator
// (to enforce them as EC2 does).

/**
 * Concurrent AMI copies into one destination region, per account: "Destination Regions are limited to 300
 * concurrent AMI copy operations" (EC2 User Guide, "How Amazon EC2 AMI copy works", Limitations; earlier
 * editions said 50, then 100). A CopyImage beyond it fails with ResourceLimitExceeded.
 */
export const AWS_CONCURRENT_COPY_LIMIT = 300;
