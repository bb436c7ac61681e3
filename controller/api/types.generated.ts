// Generated from schemas/imagespec.schema.json by `npm run generate`. Do not edit.

/**
 * One layer of a machine-image lineage: what to bake, on which parent, where to distribute it, which builds its channels point at, and how long old builds are kept.
 */
export interface ImageSpec {
  /**
   * API group and version of this document. Always leaven.dev/v1alpha1.
   */
  apiVersion: "leaven.dev/v1alpha1";
  /**
   * Kind of this document. Always ImageSpec.
   */
  kind: "ImageSpec";
  /**
   * Standard object metadata. Only name is required; it identifies the spec in parents, tags and status.
   */
  metadata: {
    /**
     * Name of the spec: lower-case letters, digits and '-', starting with a letter, at most 63 characters. Used in the leaven.dev/spec tag of every image it owns.
     */
    name: string;
    /**
     * Kubernetes namespace of the custom resource; ignored for files.
     */
    namespace?: string;
    /**
     * Free-form labels.
     */
    labels?: {
      [k: string]: string;
    };
    /**
     * Free-form annotations.
     */
    annotations?: {
      [k: string]: string;
    };
    [k: string]: unknown;
  };
  spec: ImageSpecSpec;
  status?: ImageSpecStatus;
}
/**
 * Desired state of one image layer.
 */
export interface ImageSpecSpec {
  /**
   * Kind of layer. foundation: a vendor AMI that is selected, never baked. base: the organisation's common platform, baked on a foundation or another base. app: one application, baked on a base.
   */
  layer: "foundation" | "base" | "app";
  source?: Source;
  parent?: Parent;
  /**
   * Semantic version of the recipe: MAJOR.MINOR.PATCH with an optional -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1, without a leading v. Part of every build id of this spec (VERSION+HASH), so it takes no +BUILD metadata of its own; required for base and app layers.
   */
  version?: string;
  provision?: Provision;
  bake?: Bake;
  rebuild?: Rebuild;
  /**
   * AWS regions the images must exist in. The first is the home region: builds are baked there and copied to the others.
   *
   * @minItems 1
   */
  regions: [string, ...string[]];
  share?: Share;
  publish?: Publish;
  /**
   * Named pointers to builds of this spec, e.g. candidate and release. Each value selects one build; promotion is editing a selector.
   */
  channels?: {
    [k: string]: ChannelSelector;
  };
  retention?: Retention;
  checks?: Checks;
  /**
   * Builds withdrawn from use, each with the reason. A revoked build leaves every channel at once and is never a parent; its images are tagged leaven.dev/revoked and disabled once no channel uses them, and builds baked on it are tagged leaven.dev/revoked-parent. For a foundation, name the vendor image (its name or AMI id).
   */
  revoked?: Revocation[];
  /**
   * When true, Leaven observes and reports this spec but makes no change for it (children still see its channels).
   */
  suspend?: boolean;
}
/**
 * Foundation layers only: how to find the vendor's AMIs. Give owners and name (optionally architecture), or an SSM parameter path.
 */
export interface Source {
  /**
   * AWS account ids (12 digits) or aliases (amazon, aws-marketplace) that publish the AMIs.
   *
   * @minItems 1
   */
  owners?: [string, ...string[]];
  /**
   * AMI name pattern; * matches any run of characters and ? one character, as in the EC2 name filter.
   */
  name?: string;
  /**
   * CPU architecture of the AMIs to consider.
   */
  architecture?: "x86_64" | "arm64";
  /**
   * An SSM parameter whose value is an AMI id: a vendor's public one, e.g. /aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id, or one of the account's. It is read (GetParameters) in every region the foundation is looked up in — its own and its children's home regions — and the image it holds there is described; the image's name is the build, as for owners and name. A parameter missing in a region stalls the foundation with its name and the regions.
   */
  ssmParameter?: string;
  /**
   * Whether vendor AMIs the vendor has deprecated may be chosen. Default false.
   */
  includeDeprecated?: boolean;
  /**
   * Operating system of the vendor's AMIs: linux (default) or windows. Every base and app baked on this foundation inherits it. Windows bakes provision through EC2Launch v2 user data in PowerShell: packages are Chocolatey packages, files take Windows paths (C:\...), the script is PowerShell, and the instance is generalised with Sysprep before it is imaged.
   */
  platform?: "linux" | "windows";
}
/**
 * Base and app layers only: the spec and channel whose image this layer is baked on.
 */
export interface Parent {
  /**
   * Name of the parent ImageSpec.
   */
  spec: string;
  /**
   * Channel of the parent whose build to bake on, e.g. release or candidate.
   */
  channel: string;
}
/**
 * What the bake installs and runs on the parent image. Changing anything here makes a new build.
 */
export interface Provision {
  /**
   * Update every installed package (apt-get full-upgrade, or dnf/yum upgrade) before the spec's packages, non-interactively and keeping changed configuration files. When that installs a new kernel, an instance bake reboots into it before imaging and carries on after the reboot; a volume bake's image boots it on first launch. Linux only. Pair it with rebuild to pick up security updates on a schedule.
   */
  upgrade?: boolean;
  ansible?: Ansible;
  /**
   * Packages to install with the instance's package manager (apt, dnf or yum, detected on the instance); name or name=version. On Windows, Chocolatey packages: name or name=version.
   */
  packages?: string[];
  /**
   * Package repositories to add before installing packages.
   */
  repositories?: Repository[];
  /**
   * Files to write on the image.
   */
  files?: File[];
  /**
   * Shell script (bash) run as root after packages and files; a non-zero exit fails the bake. On Windows, a PowerShell script run as SYSTEM; a terminating error or a non-zero exit fails the bake.
   */
  script?: string;
}
/**
 * An Ansible playbook run locally on the bake instance (ansible-playbook -c local) after packages and files and before the script. Ansible is installed for the bake (from the distribution's packages) and removed afterwards unless the image had it. The playbook comes from a git repository at a pinned commit, or from an S3 object at a pinned version, so its content is part of the recipe: pointing at other content rebakes. Linux only.
 */
export interface Ansible {
  /**
   * Path of the playbook inside the repository (e.g. site.yml), or the playbook's file name for an S3 object.
   */
  playbook: string;
  /**
   * Git repository holding the playbook, cloned on the bake instance (git is installed for the bake when missing).
   */
  repository?: {
    /**
     * Clone URL, e.g. https://git.example.com/platform/playbooks.git.
     */
    url: string;
    /**
     * The commit to check out: a full 40-character commit id, so the playbook's content is fixed by the recipe.
     */
    ref: string;
  };
  s3?: S3Object;
  /**
   * Variables passed to the playbook (--extra-vars), as strings.
   */
  extraVars?: {
    [k: string]: string;
  };
}
/**
 * S3 object holding the playbook (a single file, or a .tar.gz of a playbook directory), fetched with the bake instance's profile (the AWS CLI is installed for the bake when missing).
 */
export interface S3Object {
  /**
   * Bucket name.
   */
  bucket: string;
  /**
   * Object key.
   */
  key: string;
  /**
   * The object version to fetch (a versioned bucket); default: the current one, checked against sha256.
   */
  versionId?: string;
  /**
   * SHA-256 of the object's content, in hex: the bake fails when the fetched object differs, and changing it rebakes.
   */
  sha256: string;
}
/**
 * A package repository.
 */
export interface Repository {
  /**
   * Short name of the repository, used for its file name on the image.
   */
  name: string;
  /**
   * Base URL of the repository.
   */
  url: string;
  /**
   * apt only: the distribution (suite), e.g. jammy or stable.
   */
  distribution?: string;
  /**
   * apt only: components, e.g. [main].
   */
  components?: string[];
  /**
   * URL of the repository's signing key.
   */
  gpgKey?: string;
}
/**
 * A file written on the image.
 */
export interface File {
  /**
   * Absolute path of the file: /etc/... on Linux, a drive path such as C:\ProgramData\app\app.conf on Windows.
   */
  path: string;
  /**
   * Content of the file. Set content or s3.
   */
  content?: string;
  s3?: S3Object1;
  /**
   * Octal permission bits, e.g. "0644". Linux only.
   */
  mode?: string;
  /**
   * Owner as user:group, e.g. root:root. Linux only.
   */
  owner?: string;
}
/**
 * Fetch the file's content from an S3 object at a pinned version instead (with the bake instance's profile). Linux only.
 */
export interface S3Object1 {
  /**
   * Bucket name.
   */
  bucket: string;
  /**
   * Object key.
   */
  key: string;
  /**
   * The object version to fetch (a versioned bucket); default: the current one, checked against sha256.
   */
  versionId?: string;
  /**
   * SHA-256 of the object's content, in hex: the bake fails when the fetched object differs, and changing it rebakes.
   */
  sha256: string;
}
/**
 * How the bake instance is launched.
 */
export interface Bake {
  /**
   * How the image is baked. instance (the default): launch an instance from the parent image, provision it through user data, image it. volume: create an EBS volume from the parent image's root snapshot, attach it to the installation's bakery host (leaven.yaml bakery), provision it in a chroot over SSM Run Command, snapshot it and register the snapshot as the image; no instance boots and only the changed blocks are written. The build id does not depend on the method; the image's leaven.dev/bake-method tag says which made it. Windows lineages bake with the instance method only.
   */
  method?: "instance" | "volume";
  /**
   * EC2 instance type of the bake instance. Default t3.medium.
   */
  instanceType?: string;
  /**
   * Subnet to launch the bake instance in (home region). Default: the default VPC.
   */
  subnetId?: string;
  /**
   * Security groups of the bake instance.
   */
  securityGroupIds?: string[];
  /**
   * Name or ARN of the IAM instance profile of the bake instance.
   */
  instanceProfile?: string;
  /**
   * Root EBS volume of the bake instance and so of the image.
   */
  rootVolume?: {
    /**
     * Size in GiB.
     */
    size?: number;
    /**
     * EBS volume type.
     */
    type?: "gp2" | "gp3" | "io1" | "io2";
  };
  /**
   * How long a bake may run (from launch until the instance stops) before its instance is terminated and the build fails, e.g. 30m. Default 45m. It bounds only the running phase: a stopped instance's console is waited for by consoleGrace.
   */
  timeout?: string;
  /**
   * How long, after the bake instance stopped, Leaven waits for the result marker on its console before failing the build, e.g. 30m. Default 20m. EC2 posts the console output some minutes after an instance stops (Nitro instance types can be read at once, which Leaven asks for); the verdict is recorded on the instance as soon as it is read. Counted from the stop time in EC2's state-transition reason, or else from the first pass that saw the instance stopped (recorded in leaven.dev/stopped-at). Check instances (checks.smoke) get the same grace.
   */
  consoleGrace?: string;
  /**
   * ARN of a customer-managed KMS key the home image's snapshots are encrypted with: the bake instance's root volume (RunInstances Encrypted=true with KmsKeyId), or with bake.method volume the bake volume made from the parent's snapshot (CreateVolume Encrypted=true with KmsKeyId), whose snapshot the image is registered from. Set it when the account has EBS encryption by default and the images are shared (share.accounts, organizations or OUs): an image encrypted with the AWS-managed key (aws/ebs) cannot be shared, and the accounts that launch it need a grant on this key (its key policy's business, not Leaven's). Copies into other regions are encrypted with share.kmsKeys. Changing it does not make a new build: images already baked keep their encryption.
   */
  kmsKeyId?: string;
  /**
   * When true, a failed bake's instance is stopped and kept (tagged with the failure) for debugging instead of terminated, like Packer's -on-error=abort. It is terminated by apply --retry or when the spec no longer wants that build.
   */
  keepFailedInstance?: boolean;
}
/**
 * Scheduled rebakes: a new build with the same recipe and parent once per window, so the image picks up the distribution's updates though nobody edited the spec. Set every or cron. The window's start is part of the build id: one window makes one build, whatever the number of controllers or restarts, and a controller that was down across windows bakes only the current one. A scheduled build enters channels by their selectors like any other (e.g. candidate with latest: true); plan shows the next rebake.
 */
export interface Rebuild {
  /**
   * A new window every DURATION (at least 1h), aligned to 1970-01-01T00:00Z, e.g. 14d or 1w.
   */
  every?: string;
  /**
   * A window starts at each time of this five-field cron schedule (MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK; names such as MON and JAN allowed; at most once an hour), e.g. "0 3 * * MON"; or @daily, @weekly, @monthly.
   */
  cron?: string;
  /**
   * The IANA time zone cron is read in, e.g. Europe/Warsaw. Default: UTC. Only with cron.
   */
  timezone?: string;
}
/**
 * Who else may launch this spec's images. Level-based, per region: Leaven adds and removes launch permissions so that every image's accounts, organizations and OUs are exactly these; removing an entry, or share itself, removes the permission from images Leaven shared. Leaven never makes an image public nor private.
 */
export interface Share {
  /**
   * AWS account ids (12 digits) given launch permission.
   */
  accounts?: string[];
  /**
   * AWS Organizations ARNs given launch permission.
   */
  organizationArns?: string[];
  /**
   * Organizational unit ARNs given launch permission.
   */
  organizationalUnitArns?: string[];
  /**
   * Per region, the KMS key ARN copies into that region are encrypted with (needed to share encrypted images).
   */
  kmsKeys?: {
    [k: string]: string;
  };
  /**
   * When true, the accounts also get create-volume permission on every snapshot of every image (EC2 shares snapshots with accounts only, not with organizations or OUs). When false or absent, Leaven removes create-volume permissions from the snapshots of images it has shared. Default false.
   */
  snapshots?: boolean;
}
/**
 * Where consumers find the channels: each channel is published in every region of the spec as an SSM parameter <prefix>/<spec>/<channel> (data type aws:ec2:image, the channel's AMI id in that region), tagged leaven.dev/managed-by=leaven, leaven.dev/spec and leaven.dev/channel, so launch templates (resolve:ssm:), CloudFormation, Terraform and people in the account find a channel's AMI by name. Updated only when the channel moves; a parameter Leaven did not create is never overwritten.
 */
export interface Publish {
  /**
   * Publish the channels as SSM parameters. Default true; false deletes the parameters Leaven published for this spec.
   */
  ssm?: boolean;
  /**
   * The parameter path the spec's parameters go under, e.g. /leaven or /platform/images. It must not begin with /aws or /ssm (reserved by AWS). Default /leaven.
   */
  prefix?: string;
}
/**
 * Selects one build for a channel. Set exactly one of latest, build, version, follow (base/app) or latest, image (foundation); minAge narrows latest, version and follow; parentIn gates a base or app channel on its parent's channel.
 */
export interface ChannelSelector {
  /**
   * Select the newest ready build (foundation: the newest matching vendor AMI).
   */
  latest?: boolean;
  /**
   * Select exactly this build id, VERSION+HASH, e.g. 2.3.0+5f2c91ab. Promotion is editing this field.
   */
  build?: string;
  /**
   * Select the newest ready build whose version satisfies this semver range, e.g. ^1.14.0.
   */
  version?: string;
  /**
   * Base/app only: select the newest build that has been in this other channel of the same spec for at least minAge, e.g. follow: candidate with minAge: 3d (promotion from an upstream stage).
   */
  follow?: string;
  /**
   * Foundation only: select exactly this vendor AMI id, e.g. ami-0abcdef1234567890.
   */
  image?: string;
  /**
   * Only consider builds (or vendor AMIs) at least this old, e.g. 7d, so a release soaks before it is chosen. With follow: at least this long in the followed channel.
   */
  minAge?: string;
  /**
   * Base/app only: admit only builds baked on the build that this channel of the parent spec selects now, e.g. release, so a build on a candidate parent never reaches this channel.
   */
  parentIn?: string;
  /**
   * Base/app only: admit only builds that passed these checks of the spec (spec.checks), e.g. [smoke].
   */
  requires?: "smoke"[];
}
/**
 * Staged retirement of builds that no channel, child build, instance or launch template uses. Each stage runs this long after the build stopped being used (recorded in the leaven.dev/unused-since tag); a stage without a duration is skipped, so without retention nothing is retired.
 */
export interface Retention {
  /**
   * Newest unused builds to keep besides the ones in use. Default 3.
   */
  keepBuilds?: number;
  /**
   * Deprecate an unused build's images (EnableImageDeprecation) this long after it stopped being used, e.g. 14d.
   */
  deprecateAfter?: string;
  /**
   * Disable an unused build's images (DisableImage: no new launches, still restorable) this long after it stopped being used, e.g. 21d.
   */
  disableAfter?: string;
  /**
   * Deregister an unused build's images and delete their snapshots this long after it stopped being used, e.g. 30d.
   */
  deregisterAfter?: string;
  /**
   * When false, nothing is ever deregistered or deleted (deprecation and disabling still happen). Default true.
   */
  delete?: boolean;
  /**
   * What happens to this spec's images once the spec is deleted from the sources: retain (default) keeps and reports them as orphans; retire retires them on this retention schedule. Recorded on the images (leaven.dev/on-delete), so it is known after the spec is gone.
   */
  onDelete?: "retain" | "retire";
}
/**
 * Verification of each new build before a channel that requires it admits the build.
 */
export interface Checks {
  /**
   * Smoke launch: boot one instance from the new image in the home region, run script, read its verdict from the console, terminate it. The result is recorded on the image's tags, so a build is checked once.
   */
  smoke?: {
    /**
     * Bash run as root on the check instance; exit status 0 passes the check.
     */
    script: string;
    /**
     * EC2 instance type of the check instance. Default: the bake's instance type.
     */
    instanceType?: string;
    /**
     * How long the check may run before it fails, e.g. 10m. Default 15m.
     */
    timeout?: string;
  };
}
/**
 * One revoked build and why.
 */
export interface Revocation {
  /**
   * The build id (base/app, e.g. 2.3.0+5f2c91ab) or the vendor image name or AMI id (foundation).
   */
  build: string;
  /**
   * Why, e.g. CVE-2026-1234 in openssl; shown in the status and recorded on the images.
   */
  reason: string;
}
/**
 * Observed state, written by Leaven.
 */
export interface ImageSpecStatus {
  /**
   * The metadata.generation this status describes.
   */
  observedGeneration?: number;
  /**
   * Summary: Ready, Baking, Copying, Waiting, Stalled, Failed or Suspended.
   */
  phase?: string;
  /**
   * What the spec is doing or waiting for, in one line.
   */
  message?: string;
  /**
   * Builds a channel still points at that are not the build the spec wants on its current parent and recipe.
   */
  outdatedBuilds?: string[];
  /**
   * The last error that stopped the spec (invalid resource, failed bake, refused AWS call); absent once the spec is Ready.
   */
  lastError?: string;
  /**
   * Build id the spec wants on its current parent and recipe.
   */
  desiredBuild?: string;
  /**
   * Per channel, the build it points at and its image per region.
   */
  channels?: {
    [k: string]: {
      /**
       * Build id the channel points at.
       */
      build?: string;
      /**
       * Image id per region.
       */
      images?: {
        [k: string]: string;
      };
    };
  };
  /**
   * Ready, Reconciling and Stalled conditions, Kubernetes style.
   */
  conditions?: {
    /**
     * Condition type.
     */
    type: string;
    /**
     * True, False or Unknown.
     */
    status: "True" | "False" | "Unknown";
    /**
     * Machine-readable reason, CamelCase.
     */
    reason?: string;
    /**
     * Human-readable explanation.
     */
    message?: string;
    /**
     * When the status last changed.
     */
    lastTransitionTime?: string;
    /**
     * Generation the condition describes.
     */
    observedGeneration?: number;
  }[];
}
