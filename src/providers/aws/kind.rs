//! The kinds of AWS resources, each named once: the graph builds them, the
//! driver dispatches on them.

pub const VPC: &str = "aws.vpc";
pub const INTERNET_GATEWAY: &str = "aws.internet_gateway";
pub const SUBNET: &str = "aws.subnet";
pub const ROUTE_TABLE: &str = "aws.route_table";
pub const EIP: &str = "aws.eip";
pub const NAT: &str = "aws.nat";
pub const SECURITY_GROUP: &str = "aws.security_group";
pub const DB_SUBNET_GROUP: &str = "aws.db_subnet_group";
pub const DATABASE: &str = "aws.database";
pub const IAM_ROLE: &str = "aws.iam_role";
pub const EKS_CLUSTER: &str = "aws.eks_cluster";
pub const EKS_NODEGROUP: &str = "aws.eks_nodegroup";
pub const LAUNCH_TEMPLATE: &str = "aws.launch_template";
/// The database's security group rule admitting the EKS cluster's group.
pub const DATABASE_ACCESS: &str = "aws.database_access";

/// The prefix every AWS kind and address starts with.
pub const PREFIX: &str = "aws.";
