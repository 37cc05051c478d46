document.querySelector('#app').textContent = 'vite page through crossguard';
