import type { SSTConfig } from 'sst';
import config from './opsauto.config.js';
import { Api } from './stacks/api.js';
import { Automation } from './stacks/automation.js';
import { functionDefaults } from './stacks/function-from-manifest.js';
import { Observability } from './stacks/observability.js';
import { Storage } from './stacks/storage.js';

const sstConfig: SSTConfig = {
  config(_input) {
    // The backend lives in the first configured region; the jobs reach the others from there.
    return { name: config.app, region: config.regions[0] };
  },
  stacks(app) {
    app.setDefaultFunctionProps(functionDefaults);
    app.stack(Storage).stack(Automation).stack(Api).stack(Observability);
  },
};

export default sstConfig;
