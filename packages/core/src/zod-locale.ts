import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini ships no messages of its own (every issue reads "Invalid input"): load the English ones, and only
// those (`z.locales.en` would pull every language into each bundle).
z.config(en());
