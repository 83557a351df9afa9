import { render } from 'preact';
import { App } from './app.js';
import { completeSignIn } from './auth.js';
import './style.css';

const root = document.getElementById('app');
if (!root) throw new Error('the page has no #app element');

completeSignIn().then(
  () => {
    root.textContent = ''; // the 'Loading the console…' placeholder of index.html
    render(<App />, root);
  },
  (error: unknown) => {
    root.innerHTML = '';
    const p = document.createElement('p');
    p.className = 'error';
    p.setAttribute('role', 'alert');
    p.dataset.testid = 'error';
    p.textContent = `Sign-in failed: ${error instanceof Error ? error.message : String(error)}. Reload the page to try again.`;
    root.append(p);
  },
);

// A crash in rendering must still leave words on the page, never a blank screen.
window.addEventListener('error', (event) => {
  if (root.childElementCount) return;
  root.textContent = `The console failed: ${event.message}`;
});
