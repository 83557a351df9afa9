import { createRequire as topLevelCreateRequire } from 'module';const require = topLevelCreateRequire(import.meta.url);
var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// packages/core/src/config.ts
import * as z2 from "zod/mini";

// packages/core/src/zod-locale.ts
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
z.config(en());

// packages/core/src/config.ts
var regionName = z2.string().check(z2.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region name such as eu-west-1"));
var amiFamilyPatternSchema = z2.object({
  family: z2.string().check(z2.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, "family names are letters, digits, _ . - (max 64)")),
  /** A glob over image names: `*` matches any run of characters, everything else is literal. */
  namePattern: z2.string().check(z2.minLength(1), z2.maxLength(128))
});
var days = /* @__PURE__ */ __name((min, max) => z2.int().check(z2.gte(min), z2.lte(max)), "days");
var staleVolumesSchema = z2.object({
  /** A volume is stale once it has been unattached for this many days. */
  thresholdDays: z2._default(days(1, 3650), 45),
  /** Volumes carrying this tag (any value) are never filed. */
  excludeTag: z2._default(z2.string().check(z2.minLength(1), z2.maxLength(128)), "opsauto:keep"),
  /** When the daily scan runs (EventBridge Scheduler expression) and in which time zone. */
  schedule: z2._default(z2.string().check(z2.regex(/^(cron|rate)\(.+\)$/, "must be cron(...) or rate(...)")), "cron(0 6 * * ? *)"),
  timezone: z2._default(z2.string().check(z2.minLength(1)), "UTC"),
  /** Regions to scan; default: every configured region. */
  regions: z2.optional(z2.array(regionName).check(z2.minLength(1))),
  /** Other accounts to scan, through a role the scanner assumes; the backend's own account is always scanned. */
  accounts: z2._default(
    z2.array(
      z2.object({
        accountId: z2.string().check(z2.regex(/^\d{12}$/, "must be a 12-digit account ID")),
        roleArn: z2.string().check(z2.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "must be an IAM role ARN"))
      })
    ),
    []
  ),
  /** Regions scanned at the same time. */
  maxConcurrentRegions: z2._default(z2.int().check(z2.gte(1), z2.lte(16)), 4),
  /** Runbooks attached to each OpsItem (`/aws/automations`). */
  runbooks: z2.prefault(
    z2.object({
      snapshotThenDelete: z2._default(z2.string().check(z2.minLength(1)), "opsauto-SnapshotThenDeleteVolume"),
      delete: z2._default(z2.string().check(z2.minLength(1)), "opsauto-DeleteVolume")
    }),
    {}
  )
});
var runbooksSchema = z2.object({
  /**
   * How often the worker looks for executions that are due but were not woken (a lost wake-up, a worker that died):
   * an EventBridge Scheduler expression, in UTC.
   */
  tickSchedule: z2._default(z2.string().check(z2.regex(/^(rate|cron)\(.+\)$/, "must be rate(...) or cron(...)")), "rate(5 minutes)"),
  /**
   * Roles runbooks may name as `assumeRole` (typically one per member account): the worker may assume only these.
   * Empty: runbooks run with the worker's own permissions (see RUNBOOK_API_ACTIONS in the manifest).
   */
  assumeRoles: z2._default(z2.array(z2.string().check(z2.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "must be an IAM role ARN"))), [])
});
var configSchema = z2.object({
  /** Prefix of every resource name; one deployment per app name and stage. */
  app: z2._default(z2.string().check(z2.regex(/^[a-z][a-z0-9-]{1,30}$/, "must be lowercase letters, digits and -, 2 to 31 long")), "opsauto"),
  /** Regions the jobs work in; the first is where the backend itself is deployed. */
  regions: z2._default(z2.array(regionName).check(z2.minLength(1, "must name at least one region")), ["us-east-1"]),
  logLevel: z2._default(z2.enum(["DEBUG", "INFO", "WARN", "ERROR"]), "INFO"),
  amiPublisher: z2.prefault(
    z2.object({
      /** Parameter that holds a family's current AMI; `{family}` is replaced. Must start with `/`. */
      parameterPath: z2._default(
        z2.string().check(
          z2.regex(/^\/[a-zA-Z0-9_.\-/{}]+$/, "must be an absolute parameter path such as /opsauto/ami/{family}/latest"),
          z2.refine((p) => p.includes("{family}"), "must contain {family}")
        ),
        "/opsauto/ami/{family}/latest"
      ),
      /** Tag whose value names an image's family. */
      familyTag: z2._default(z2.string().check(z2.minLength(1), z2.maxLength(128)), "opsauto:ami-family"),
      /** Extra rules for images without the tag: first match wins. */
      namePatterns: z2._default(z2.array(amiFamilyPatternSchema), [])
    }),
    {}
  ),
  staleVolumes: z2.prefault(staleVolumesSchema, {}),
  runbooks: z2.prefault(runbooksSchema, {})
});
function defineConfig(input) {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
    throw new ConfigError(`invalid opsauto config:
${problems}`);
  }
  return result.data;
}
__name(defineConfig, "defineConfig");
var ConfigError = class extends Error {
  static {
    __name(this, "ConfigError");
  }
  name = "ConfigError";
};

// opsauto.config.ts
var opsauto_config_default = defineConfig({
  regions: ["us-east-1"],
  amiPublisher: {
    parameterPath: "/opsauto/ami/{family}/latest",
    familyTag: "opsauto:ami-family",
    namePatterns: [{ family: "demo-base", namePattern: "demo-base-*" }]
  }
});

// stacks/api.ts
import { Api as HttpApi, dependsOn as dependsOn2, use as use2 } from "sst/constructs";

// stacks/automation.ts
import { Duration as Duration2, Stack as Stack2 } from "aws-cdk-lib";
import * as cloudwatch2 from "aws-cdk-lib/aws-cloudwatch";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam2 from "aws-cdk-lib/aws-iam";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { dependsOn, use } from "sst/constructs";

// stacks/function-from-manifest.ts
import { Duration, Stack, Tags } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Function as SstFunction } from "sst/constructs";

// stacks/storage.ts
import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";

// sst.config.ts
var sstConfig = {
  config(_input) {
    return {
      name: opsauto_config_default.app,
      region: opsauto_config_default.regions[0]
    };
  }
};
var sst_config_default = sstConfig;
export {
  sst_config_default as default
};
