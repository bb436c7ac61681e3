// The narrow parameter port: exactly the SSM Parameter Store calls Leaven makes — resolving a foundation's
// `source.ssmParameter`, and publishing every channel as a parameter. Region first, like the EC2 port:
// parameters and their rate limits are regional. The CloudPort extends it, so one object serves both.

export type ParameterTags = Record<string, string>;

/** The data type that makes SSM check the value is an AMI id (and lets EC2 launch from `resolve:ssm:`). */
export const IMAGE_DATA_TYPE = "aws:ec2:image";

export interface CloudParameter {
  name: string;
  region: string;
  value: string;
  /** Starts at 1 and grows by one with every PutParameter, whatever the value. */
  version: number;
  /** `text` or `aws:ec2:image`. */
  dataType: string;
  /** ISO 8601. */
  lastModified?: string;
}

/** What DescribeParameters tells about a parameter: everything but its value (and its tags). */
export type ParameterMetadata = Omit<CloudParameter, "value">;

/**
 * A DescribeParameters ParameterFilter: `Path` (option `Recursive` or `OneLevel`), `Name` (`Equals` or
 * `BeginsWith`), `DataType`, or `tag:KEY` (values optional: without them, any parameter with that key).
 */
export interface ParameterFilter {
  key: string;
  option?: "Equals" | "BeginsWith" | "Recursive" | "OneLevel";
  values?: string[];
}

export interface PutParameterInput {
  name: string;
  value: string;
  dataType: typeof IMAGE_DATA_TYPE;
  /**
   * False: create, or fail with ParameterAlreadyExists. True: replace the value (a new version). AWS refuses
   * Tags together with Overwrite=true, so a parameter is created with its tags and updated without.
   */
  overwrite: boolean;
  /** Only with overwrite false. */
  tags?: ParameterTags;
}

export interface ParameterPort {
  /**
   * GetParameters, 10 names per request (SSM's maximum): ceil(n/10) requests. Public parameters
   * (`/aws/service/...`) included. Names that do not exist come back in `invalid`, not as an error.
   */
  getParameters(
    region: string,
    names: readonly string[],
  ): Promise<{ parameters: CloudParameter[]; invalid: string[] }>;
  /** GetParametersByPath, Recursive, MaxResults 10 (SSM's maximum), every page: ceil(n/10) requests. */
  getParametersByPath(region: string, path: string): Promise<CloudParameter[]>;
  /** DescribeParameters with ParameterFilters, MaxResults 50 (SSM's maximum), every page. */
  describeParameters(region: string, filters: readonly ParameterFilter[]): Promise<ParameterMetadata[]>;
  putParameter(region: string, input: PutParameterInput): Promise<{ version: number }>;
  /** Fails with ParameterNotFound when there is none. */
  deleteParameter(region: string, name: string): Promise<void>;
  /** ListTagsForResource (ResourceType Parameter): one request per parameter; SSM has no bulk tag read. */
  listTagsForResource(region: string, name: string): Promise<ParameterTags>;
}
