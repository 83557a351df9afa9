/**
 * Approximate on-demand Amazon EBS list prices in USD (per GB-month of provisioned storage, per provisioned IOPS-month above the free baseline, per MiB/s-month of gp3 throughput above 125). Used only to rank stale volumes by what they cost; edit to match your agreement. Regions not listed use 'default'.
 * The one data file of prices: edit it, nothing else reads prices.
 */
export const ebsPrices: {
  default: Record<string, TypePrice>;
  regions: Record<string, Record<string, TypePrice>>;
} = {
  "default": {
    "gp3": {
      "gb": 0.08,
      "iops": 0.005,
      "iopsFree": 3000,
      "throughputMiBs": 0.04,
      "throughputFree": 125
    },
    "gp2": {
      "gb": 0.1
    },
    "io1": {
      "gb": 0.125,
      "iops": 0.065
    },
    "io2": {
      "gb": 0.125,
      "iops": 0.065
    },
    "st1": {
      "gb": 0.045
    },
    "sc1": {
      "gb": 0.015
    },
    "standard": {
      "gb": 0.05
    }
  },
  "regions": {
    "us-east-1": {},
    "us-east-2": {},
    "us-west-2": {},
    "eu-west-1": {
      "gp3": {
        "gb": 0.088,
        "iops": 0.0055,
        "iopsFree": 3000,
        "throughputMiBs": 0.044,
        "throughputFree": 125
      },
      "gp2": {
        "gb": 0.11
      },
      "io1": {
        "gb": 0.138,
        "iops": 0.072
      },
      "io2": {
        "gb": 0.138,
        "iops": 0.072
      },
      "st1": {
        "gb": 0.05
      },
      "sc1": {
        "gb": 0.0168
      },
      "standard": {
        "gb": 0.055
      }
    },
    "eu-central-1": {
      "gp3": {
        "gb": 0.0952,
        "iops": 0.006,
        "iopsFree": 3000,
        "throughputMiBs": 0.048,
        "throughputFree": 125
      },
      "gp2": {
        "gb": 0.119
      },
      "io1": {
        "gb": 0.149,
        "iops": 0.078
      },
      "io2": {
        "gb": 0.149,
        "iops": 0.078
      },
      "st1": {
        "gb": 0.054
      },
      "sc1": {
        "gb": 0.018
      },
      "standard": {
        "gb": 0.059
      }
    },
    "ap-southeast-2": {
      "gp3": {
        "gb": 0.096,
        "iops": 0.006,
        "iopsFree": 3000,
        "throughputMiBs": 0.048,
        "throughputFree": 125
      },
      "gp2": {
        "gb": 0.12
      },
      "io1": {
        "gb": 0.138,
        "iops": 0.09
      },
      "io2": {
        "gb": 0.138,
        "iops": 0.09
      },
      "st1": {
        "gb": 0.054
      },
      "sc1": {
        "gb": 0.018
      },
      "standard": {
        "gb": 0.08
      }
    }
  }
};

export interface TypePrice {
  /** USD per GB-month of provisioned storage. */
  gb: number;
  /** USD per provisioned IOPS-month above `iopsFree`. */
  iops?: number;
  iopsFree?: number;
  /** USD per MiB/s-month of throughput above `throughputFree` (gp3). */
  throughputMiBs?: number;
  throughputFree?: number;
}
